"""Users' third-party IDs (email addresses): verification by mail with a code
and a link, the /account/3pid endpoints, the m.login.email.identity UIA stage
and password reset by email. Spec: client-server API, "Adding account
administrative contact information"; docs/admin-guide.md "Email and
third-party IDs"."""
