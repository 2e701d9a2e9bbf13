"""Inbound email: mailboxes whose messages become leads or activity.

A message arrives as raw RFC 822 bytes, posted to ``/inbound/email/<token>/`` or piped
to ``manage.py ingest_email``. It is stored first, as received, in a transaction of its
own (``InboundEmail``), and only then parsed, classified (auto-replies, bulk mail and
bounces are ignored; a Message-ID seen before is a duplicate; what cannot be read is
rejected with a reason) and handed to ``leads.capture.services.capture_inquiry``. A
failure while processing marks the stored message failed; the admin can process it again.
"""
