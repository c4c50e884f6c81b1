"""The broker's side of trust: accounts, password and ACL files, TLS material (issue #10)."""
