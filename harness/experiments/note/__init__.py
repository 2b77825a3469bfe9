"""The note: 《tensorflow2.0學習筆記第二章第四節》 (2022-06-04), section 2.4 and its snippets."""
