# wrong: EarlyStopping counts any decrease as an improvement (min_delta ignored: metric < best)
# hint: min_delta
# caught by: EarlyStopping(patience=2, min_delta=0.1) fed 1.0, 0.95, 0.92: must stop at the third step (0.05 < 0.1)
class EarlyStopping(EarlyStopping):
    def step(self, metric, model=None):
        metric = float(metric)
        t = self.num_steps
        self.num_steps += 1
        if self.mode == "min":
            improved = metric < self.best
        else:
            improved = metric > self.best
        if improved:
            self.best, self.best_step, self.counter = metric, t, 0
            if self.restore_best and model is not None:
                self.best_state = copy.deepcopy(model.state_dict())
            return False
        self.counter += 1
        return self.counter >= self.patience
