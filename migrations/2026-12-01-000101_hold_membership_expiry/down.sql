DROP INDEX holds_active_membership;
