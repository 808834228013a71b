"""Reconciling with the Instagram Conversations API: recovering the messages Meta never
delivered as webhooks, and counting those it can no longer give (`service.reconcile.run`)."""
