# wrong: EarlyStopping uses <= (>= in max mode), so a metric equal to best - min_delta counts as an improvement
# hint: strict
# caught by: EarlyStopping(patience=2) fed the same value 0.5 three times: must stop at the third step, never does
class EarlyStopping(EarlyStopping):
    def step(self, metric, model=None):
        metric = float(metric)
        t = self.num_steps
        self.num_steps += 1
        if self.mode == "min":
            improved = metric <= self.best - self.min_delta
        else:
            improved = metric >= self.best + self.min_delta
        if improved:
            self.best, self.best_step, self.counter = metric, t, 0
            if self.restore_best and model is not None:
                self.best_state = copy.deepcopy(model.state_dict())
            return False
        self.counter += 1
        return self.counter >= self.patience
