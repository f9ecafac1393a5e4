# attack: an endless loop at import time
# layer: the import deadline (limits.import_seconds); every test reports the import failure without a restart
while True:
    pass
