# wrong: no torch.no_grad(): the scores carry an autograd graph (requires_grad=True) through the model's parameters
# hint: no_grad
# caught by: reconstruction_error run with grad enabled, checked in the worker: the result must not require grad nor have a grad_fn
def reconstruction_error(model, x):
    was_training = model.training
    model.eval()
    err = ((model(x) - x) ** 2).mean(dim=-1)
    model.train(was_training)
    return err
