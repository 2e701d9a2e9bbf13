"""The home page, "my day": a person's follow-ups due today and overdue, new leads waiting
for a first contact, their hottest open leads, their open pipeline and forecast, and their
month in numbers. Managers see the same for their team (or one person of it), admins for
everyone (or one person). Reads only: no models, no services of its own."""
