"""Answering: from retrieved chunks to a cited answer, with the guard that checks it."""
