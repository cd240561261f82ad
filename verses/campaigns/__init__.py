"""Announcements (campaigns): an operator's message to a segment of the users, at an instant or at a
local time on each user's own clock, sent through the daily verse's push pipeline."""
