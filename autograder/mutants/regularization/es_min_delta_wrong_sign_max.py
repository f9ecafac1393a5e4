# wrong: in "max" mode EarlyStopping tests metric > best - min_delta (sign of min_delta flipped)
# hint: min_delta
# caught by: EarlyStopping(mode="max", patience=1, min_delta=0.1) fed 0.8, 0.75: 0.75 is no improvement, stop now
class EarlyStopping(EarlyStopping):
    def step(self, metric, model=None):
        metric = float(metric)
        t = self.num_steps
        self.num_steps += 1
        if self.mode == "min":
            improved = metric < self.best - self.min_delta
        else:
            improved = metric > self.best - self.min_delta
        if improved:
            self.best, self.best_step, self.counter = metric, t, 0
            if self.restore_best and model is not None:
                self.best_state = copy.deepcopy(model.state_dict())
            return False
        self.counter += 1
        return self.counter >= self.patience
