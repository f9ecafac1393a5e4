# wrong: calculate_gain("leaky_relu", param) ignores the negative slope and returns relu's sqrt(2)
# hint: negative slope
# caught by: calculate_gain("leaky_relu", 0.2) == 1.4142 instead of 1.3868; kaiming_uniform_(w, a=math.sqrt(5)) bound sqrt(6/fan_in) instead of 1/sqrt(fan_in)
def calculate_gain(nonlinearity, param=None):
    if nonlinearity in _LINEAR_FNS or nonlinearity == "sigmoid":
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity in ("relu", "leaky_relu"):
        return math.sqrt(2.0)
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")
