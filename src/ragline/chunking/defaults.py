"""The default chunk size and overlap, in the embedding model's tokens.

Here rather than in the `chunk` step so `embed`'s validation can compare a
workflow's chunks with its model's window without importing another step.
"""

# all-MiniLM-L6-v2 reads 256 word pieces, two of them [CLS] and [SEP]; 224 leaves
# 30 for a title (90% of SciFact's titles are shorter), so title + chunk is embedded whole.
DEFAULT_SIZE = 224
DEFAULT_OVERLAP = 32
