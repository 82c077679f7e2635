"""The reporter-messaging service: tells reporters what happens to their complaint on their own
channel (WhatsApp, SMS, email) and turns their replies into commands (issue 15)."""
