"""Services: the app's operations, called by thin views and raising from policies.errors."""
