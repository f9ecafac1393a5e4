# wrong: EarlyStopping remembers that it stopped: once step() returned True it returns True for ever, even after an improvement
# hint: the stop is not remembered
# caught by: EarlyStopping(patience=2) fed 1.0, 2.0, 2.0, 0.5 (all of them): step 3 improves and must return False
class EarlyStopping(EarlyStopping):
    def step(self, metric, model=None):
        stop = super().step(metric, model) or getattr(self, "stopped", False)
        self.stopped = stop
        return stop
