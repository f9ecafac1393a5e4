# wrong: EarlyStopping records best_step after incrementing its step count, so best_step is 1-based
# hint: best_step
# caught by: EarlyStopping() fed a single metric 1.0: best_step must be 0
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
            self.best, self.best_step, self.counter = metric, self.num_steps, 0
            if self.restore_best and model is not None:
                self.best_state = copy.deepcopy(model.state_dict())
            return False
        self.counter += 1
        return self.counter >= self.patience
