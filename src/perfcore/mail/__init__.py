"""E-mail intake: returns sent by councils' designated updaters, with receipts and reminders.

message    a raw message read defensively: sender, Message-ID, attachments, and what is wrong with it
pipeline   one message from arrival to outcome: keep it whole, check it, authorise the sender,
           ingest each attachment as ``perfcore ingest`` does, record the outcome, send the receipt
receipts   the receipt and reminder e-mails, composed with the standard library; sent through a
           relay or written to an outbox folder
server     ``perfcore intake smtp``: a real SMTP server (aiosmtpd) feeding the pipeline
maildir    ``perfcore intake maildir``: a Maildir processed once, for cron
status     what is still missing for a council and month (receipts, reminders)
"""
