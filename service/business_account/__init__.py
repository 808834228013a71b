"""The Instagram business account the service speaks as: its access token's lifecycle, its
webhook subscription, its send pace, and the runtime that calls the Graph API with its token."""
