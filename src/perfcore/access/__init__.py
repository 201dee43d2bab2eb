"""Access control for the published site: users, roles, the nginx that enforces them, the audit log.

The site is static and laid out by audience (see ``render.context``), so
access is granted by path. This package owns the one policy that says which
paths each role may open (``policy``), the users file that names who holds
which role (``users``), the nginx configuration generated from both
(``nginx``), the foreground server for ``perfcore serve`` (``serve``), and the
reading of nginx's access log for information governance (``audit``).
"""
