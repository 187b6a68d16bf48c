"""Text, tags and languages: word splitting and segmentation of translations, BIO/IOB2 tag
handling, and the language-code registry. No Beam, no models, no file I/O."""
