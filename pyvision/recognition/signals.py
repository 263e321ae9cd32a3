from django.dispatch import Signal

# Sent by the worker inside the transaction that writes a recognition's result, with
# `recognition` and `result` (the engine's RecognitionResult): what other apps derive
# from the result is written in the same transaction, or not at all.
recognition_done = Signal()
