# wrong: EarlyStopping keeps model.state_dict() itself (references to the live tensors), so restore() loads the current weights
# hint: copy
# caught by: step(1.0, model), change the weights in place, step(2.0, model), restore(model): weights must be the step-0 ones
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
                self.best_state = model.state_dict()
            return False
        self.counter += 1
        return self.counter >= self.patience
