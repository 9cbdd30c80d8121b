"""What a job leaves for people: the results file and summary, SMS parts, pricing."""
