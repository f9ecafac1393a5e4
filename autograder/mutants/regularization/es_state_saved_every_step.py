# wrong: EarlyStopping copies the state_dict at every step, not only when the metric improves
# hint: best
# caught by: step(1.0, model), change the weights, step(2.0, model), restore(model): must restore the step-0 weights
class EarlyStopping(EarlyStopping):
    def step(self, metric, model=None):
        metric = float(metric)
        if self.restore_best and model is not None:
            self.best_state = copy.deepcopy(model.state_dict())
        t = self.num_steps
        self.num_steps += 1
        if self.mode == "min":
            improved = metric < self.best - self.min_delta
        else:
            improved = metric > self.best + self.min_delta
        if improved:
            self.best, self.best_step, self.counter = metric, t, 0
            return False
        self.counter += 1
        return self.counter >= self.patience
