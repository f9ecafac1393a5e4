# wrong: the head is replaced before freezing, so the new head is frozen too (nothing left to train)
# caught by: prepare_for_finetuning(SmallResNet(), 4): count_parameters(model) is 0 instead of 64*4 + 4
def prepare_for_finetuning(model, num_classes, attr="fc", train_bn=False):
    replace_head(model, num_classes, attr)
    freeze(model)
    for module in model.modules():
        if not isinstance(module, _BatchNorm):
            continue
        if train_bn:
            try:
                del module.train  # the instance attribute; the method stays
            except AttributeError:
                pass
            module.train(model.training)
            if module.affine:
                module.weight.requires_grad_(True)
                module.bias.requires_grad_(True)
        else:
            module.train = functools.partial(_bn_train_stays_eval, module)
            module.eval()
    return model
