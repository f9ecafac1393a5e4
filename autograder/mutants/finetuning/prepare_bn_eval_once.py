# wrong: BatchNorm layers are switched to eval once; the next model.train() puts them back in train mode
# hint: batchnorm
# caught by: prepare_for_finetuning(SmallResNet(), 4); model.train(); model(x): bn.training is True and running_mean moves
def prepare_for_finetuning(model, num_classes, attr="fc", train_bn=False):
    freeze(model)
    replace_head(model, num_classes, attr)
    for module in model.modules():
        if isinstance(module, _BatchNorm):
            if train_bn:
                module.weight.requires_grad_(True)
                module.bias.requires_grad_(True)
            else:
                module.eval()
    return model
