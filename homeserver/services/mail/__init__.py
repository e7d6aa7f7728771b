"""The mailer: mail rendered from templates and sent over SMTP, for every
domain that sends mail (email notifications now; verification and
password-reset mail next). docs/architecture.md, "The mailer"."""
