"""Text, tags and languages: word splitting and segmentation of translations (and of gold
sentences, whose tags are carried between tokenisations by character offsets), BIO/IOB2 tag
handling, and the language-code registry. No Beam, no models, no file I/O."""
