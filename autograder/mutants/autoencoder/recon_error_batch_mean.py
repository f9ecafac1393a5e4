# wrong: returns one number, F.mse_loss(model(x), x) averaged over the whole batch, instead of one score per sample
# hint: one per-sample score
# caught by: reconstruction_error(model, randn(10, 8)) must have shape (10,) and equal ((model(x) - x) ** 2).mean(-1)
def reconstruction_error(model, x):
    was_training = model.training
    model.eval()
    with torch.no_grad():
        err = F.mse_loss(model(x), x)
    model.train(was_training)
    return err
