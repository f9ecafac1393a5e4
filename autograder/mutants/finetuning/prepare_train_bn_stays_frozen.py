# wrong: with train_bn=True BatchNorm follows train mode but its weight/bias stay frozen
# hint: batchnorm
# caught by: prepare_for_finetuning(SmallResNet(), 4, train_bn=True): bn1.weight.requires_grad is False
def prepare_for_finetuning(model, num_classes, attr="fc", train_bn=False):
    freeze(model)
    replace_head(model, num_classes, attr)
    for module in model.modules():
        if not isinstance(module, _BatchNorm):
            continue
        if train_bn:
            try:
                del module.train  # the instance attribute; the method stays
            except AttributeError:
                pass
            module.train(model.training)
        else:
            module.train = functools.partial(_bn_train_stays_eval, module)
            module.eval()
    return model
