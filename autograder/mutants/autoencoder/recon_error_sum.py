# wrong: sums the squared errors over the features instead of averaging them (D times too large)
# hint: sum of the squared errors
# caught by: reconstruction_error(model, randn(10, 8)) vs F.mse_loss(model(x), x, reduction="none").mean(-1) (D times larger)
def reconstruction_error(model, x):
    was_training = model.training
    model.eval()
    with torch.no_grad():
        err = ((model(x) - x) ** 2).sum(dim=-1)
    model.train(was_training)
    return err
