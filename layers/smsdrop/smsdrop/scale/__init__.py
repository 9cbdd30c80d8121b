"""Past one function: a very large file on Step Functions Distributed Map (docs/scale-out.md).

Plan cuts the file into chunks on record boundaries; Index computes stable digests of each chunk's keys; Merge
applies "first occurrence wins" in chunk order; Send runs the job runner on each chunk; Finish joins the chunks'
results files and closes the job.
"""
