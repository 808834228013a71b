"""Direct messages: sending through the Graph API, the DMs the internal API asks for, their texts
and tokens."""
