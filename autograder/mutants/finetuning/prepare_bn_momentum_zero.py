# wrong: running stats are kept by setting momentum=0, but BatchNorm stays in train mode (normalises with batch stats)
# hint: batchnorm
# caught by: after prepare_for_finetuning, model.train() and model.eval() give different outputs on the same batch; bn.training is True
def prepare_for_finetuning(model, num_classes, attr="fc", train_bn=False):
    freeze(model)
    replace_head(model, num_classes, attr)
    for module in model.modules():
        if isinstance(module, _BatchNorm):
            if train_bn:
                module.weight.requires_grad_(True)
                module.bias.requires_grad_(True)
            else:
                module.momentum = 0.0
    return model
