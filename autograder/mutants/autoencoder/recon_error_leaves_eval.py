# wrong: switches the model to eval mode and leaves it there (the previous training mode is not restored)
# hint: restore the previous mode
# caught by: a model in train mode must still be in train mode after reconstruction_error
def reconstruction_error(model, x):
    model.eval()
    with torch.no_grad():
        return ((model(x) - x) ** 2).mean(dim=-1)
