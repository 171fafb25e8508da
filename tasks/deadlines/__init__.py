"""Stage deadlines: the statutory calendar watched daily: what is upcoming, due, at risk or overdue, reminders at
each configured offset and escalations to the chair, each sent once; the calendar of the coming twelve months."""
