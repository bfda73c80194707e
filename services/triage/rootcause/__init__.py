"""Root cause: suggesting why a complaint happened (``service.suggest``) and learning from confirmations.

``service.py`` holds the public functions (``suggest``, ``keywords_for``, ``new_classifier``,
``accuracy``); ``classifier.py`` the naive Bayes text classifier; ``seed_phrases.py`` its starting
knowledge.
"""
