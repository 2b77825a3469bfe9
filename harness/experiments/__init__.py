"""What is run: the note's and the course's programs, each declared with what its source
prints and claims (``note/``, ``course/``), and the catalogue of them (``catalog``)."""
