{#-
  Exact decimal types, portable: DuckDB DECIMAL(p,s); on BigQuery DECIMAL(p,s) is an alias of
  NUMERIC(p,s) (p - s <= 29, s <= 9). Never float for money.
-#}

{#- a money amount as in the source (SQL Server money / numeric(19,4)) -#}
{% macro money_type() %}decimal(19, 4){% endmacro %}

{#- a computed amount (qty * price * (1 - discount)): exact, scale 8 -#}
{% macro amount_type() %}decimal(28, 8){% endmacro %}

{#-
  money_divide(numerator, denominator): an average rounded to 4 decimals, null when the
  denominator is 0. DuckDB divides decimals as DOUBLE, so round before casting back.
-#}
{% macro money_divide(numerator, denominator) %}
    {{- return(adapter.dispatch('money_divide', 'adw')(numerator, denominator)) -}}
{% endmacro %}

{% macro default__money_divide(numerator, denominator) -%}
    cast(round({{ numerator }} / nullif({{ denominator }}, 0), 4) as {{ money_type() }})
{%- endmacro %}

{% macro bigquery__money_divide(numerator, denominator) -%}
    cast(round(safe_divide({{ numerator }}, {{ denominator }}), 4) as {{ money_type() }})
{%- endmacro %}

{#-
  to_utc_timestamp(expression): a timestamp with time zone as a plain UTC timestamp
  (DuckDB TIMESTAMP); BigQuery TIMESTAMP is already UTC.
-#}
{% macro to_utc_timestamp(expression) %}
    {{- return(adapter.dispatch('to_utc_timestamp', 'adw')(expression)) -}}
{% endmacro %}

{% macro default__to_utc_timestamp(expression) -%}
    cast({{ expression }} at time zone 'UTC' as timestamp)
{%- endmacro %}

{% macro duckdb__to_utc_timestamp(expression) -%}
    timezone('UTC', {{ expression }})
{%- endmacro %}

{% macro bigquery__to_utc_timestamp(expression) -%}
    {{ expression }}
{%- endmacro %}

{#-
  timestamp_tz_type(), double_type(): an instant (UTC) and a double-precision float, named as
  each warehouse names them (DuckDB TIMESTAMPTZ and DOUBLE, BigQuery TIMESTAMP and FLOAT64).
-#}
{% macro timestamp_tz_type() %}
    {{- return(adapter.dispatch('timestamp_tz_type', 'adw')()) -}}
{% endmacro %}

{% macro default__timestamp_tz_type() %}timestamp with time zone{% endmacro %}

{% macro bigquery__timestamp_tz_type() %}timestamp{% endmacro %}

{% macro double_type() %}
    {{- return(adapter.dispatch('double_type', 'adw')()) -}}
{% endmacro %}

{% macro default__double_type() %}double precision{% endmacro %}

{% macro bigquery__double_type() %}float64{% endmacro %}
