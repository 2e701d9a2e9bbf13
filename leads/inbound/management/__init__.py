"""Commands of the inbound mailboxes."""
