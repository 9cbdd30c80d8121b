"""The only code that knows the table: schema, jobs, results, delivery state."""
