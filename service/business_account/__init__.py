"""The Instagram business accounts the service speaks as (`accounts`): each one's access
token lifecycle, webhook subscription and send pace, and the runtime whose Graph API clients
call as each with its token."""
