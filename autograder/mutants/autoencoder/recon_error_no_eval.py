# wrong: scores the model in whatever mode it is in (no model.eval()), so dropout / batch-norm layers act as in training
# hint: scored in train mode
# caught by: a model with dropout in train mode: the scores must equal the eval-mode scores
def reconstruction_error(model, x):
    with torch.no_grad():
        return ((model(x) - x) ** 2).mean(dim=-1)
