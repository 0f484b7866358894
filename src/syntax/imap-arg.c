/* imap-arg.c: typed access to parsed arguments (see imap-arg.h).  The one
 * place besides the parser that reads imap_arg's `type`. */
#include "syntax/imap-arg.h"

bool imap_arg_is_eol(const struct imap_arg *arg)
{
	return arg->type == IMAP_ARG_EOL;
}

bool imap_arg_atom_equals(const struct imap_arg *arg, const char *name)
{
	return arg->type == IMAP_ARG_ATOM && str_eq_icase(arg->str, name);
}

bool imap_arg_is_nil(const struct imap_arg *arg)
{
	return imap_arg_atom_equals(arg, "NIL");
}

bool imap_arg_get_atom(const struct imap_arg *arg, const char **str_r)
{
	if (arg->type != IMAP_ARG_ATOM)
		return false;
	*str_r = arg->str;
	return true;
}

bool imap_arg_get_quoted(const struct imap_arg *arg, const char **str_r)
{
	if (arg->type != IMAP_ARG_QUOTED)
		return false;
	*str_r = arg->str;
	return true;
}

bool imap_arg_get_string(const struct imap_arg *arg, const char **str_r,
			 size_t *len_r)
{
	switch (arg->type) {
	case IMAP_ARG_QUOTED:
		break;
	case IMAP_ARG_LITERAL:
		if (arg->literal8 || arg->has_nul)
			return false;
		break;
	default:
		return false;
	}
	*str_r = arg->str;
	if (len_r != NULL)
		*len_r = arg->len;
	return true;
}

bool imap_arg_get_astring(const struct imap_arg *arg, const char **str_r,
			  size_t *len_r)
{
	if (arg->type != IMAP_ARG_ATOM)
		return imap_arg_get_string(arg, str_r, len_r);
	*str_r = arg->str;
	if (len_r != NULL)
		*len_r = arg->len;
	return true;
}

bool imap_arg_get_nstring(const struct imap_arg *arg, const char **str_r)
{
	if (imap_arg_is_nil(arg)) {
		*str_r = NULL;
		return true;
	}
	return imap_arg_get_string(arg, str_r, NULL);
}

bool imap_arg_get_list(const struct imap_arg *arg, const struct imap_arg **list_r,
		       unsigned int *count_r)
{
	if (arg->type != IMAP_ARG_LIST)
		return false;
	*list_r = arg->list;
	if (count_r != NULL)
		*count_r = arg->list_count;
	return true;
}

bool imap_arg_get_literal_size(const struct imap_arg *arg, uint64_t *size_r)
{
	switch (arg->type) {
	case IMAP_ARG_LITERAL:
		*size_r = arg->len;
		return true;
	case IMAP_ARG_LITERAL_FILE:
		*size_r = arg->size;
		return true;
	default:
		return false;
	}
}

bool imap_arg_get_literal_data(const struct imap_arg *arg, const char **data_r,
			       size_t *len_r)
{
	if (arg->type != IMAP_ARG_LITERAL)
		return false;
	*data_r = arg->str;
	*len_r = arg->len;
	return true;
}

bool imap_keyword_find(const struct imap_keyword *table, size_t count,
		       const char *name, unsigned int *value_r)
{
	for (size_t i = 0; i < count; i++) {
		if (str_eq_icase(name, table[i].name)) {
			*value_r = table[i].value;
			return true;
		}
	}
	return false;
}
