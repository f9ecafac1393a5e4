# wrong: EarlyStopping does not reset counter on improvement, so it counts all bad steps, not consecutive ones
# hint: consecutive
# caught by: EarlyStopping(patience=2) fed 1.0, 2.0, 0.5, 2.0: counter must be 1 and step() False at the end
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
            self.best, self.best_step = metric, t
            if self.restore_best and model is not None:
                self.best_state = copy.deepcopy(model.state_dict())
            return False
        self.counter += 1
        return self.counter >= self.patience
