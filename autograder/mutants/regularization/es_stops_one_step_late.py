# wrong: EarlyStopping stops when counter > patience, one step after patience non-improving steps
# hint: patience
# caught by: EarlyStopping(patience=2) fed 1.0, 2.0, 2.0: the third call must return True
class EarlyStopping(EarlyStopping):
    def step(self, metric, model=None):
        metric = float(metric)
        t = self.num_steps
        self.num_steps += 1
        if self.mode == "min":
            improved = metric < self.best - self.min_delta
        else:
            improved = metric > self.best + self.min_delta
        if improved:
            self.best, self.best_step, self.counter = metric, t, 0
            if self.restore_best and model is not None:
                self.best_state = copy.deepcopy(model.state_dict())
            return False
        self.counter += 1
        return self.counter > self.patience
