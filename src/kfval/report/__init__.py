"""The reports a run leaves behind: Cucumber JSON, JUnit XML, and the redaction every sink goes through.

Runner-agnostic on purpose: nothing here imports radish (`kfval.reporting` translates radish's model
into `kfval.report.model` records), so the same writers could serve another runner tomorrow.
"""
