{#-
  date_spine_from(relation, start_column, end_column): a subquery with one row per day
  (column date_day) from start to end inclusive, bounds read from a one-row CTE/relation.
-#}
{% macro date_spine_from(relation, start_column, end_column) %}
    {{- return(adapter.dispatch('date_spine_from', 'adw')(relation, start_column, end_column)) -}}
{% endmacro %}

{% macro default__date_spine_from(relation, start_column, end_column) -%}
    (
        select cast(day_ts as date) as date_day
        from {{ relation }},
            generate_series(
                cast({{ start_column }} as timestamp),
                cast({{ end_column }} as timestamp),
                interval '1 day'
            ) as day_ts
    )
{%- endmacro %}

{% macro duckdb__date_spine_from(relation, start_column, end_column) -%}
    (
        select
            cast(
                unnest(
                    generate_series(
                        cast({{ start_column }} as timestamp),
                        cast({{ end_column }} as timestamp),
                        interval 1 day
                    )
                ) as date
            ) as date_day
        from {{ relation }}
    )
{%- endmacro %}

{% macro bigquery__date_spine_from(relation, start_column, end_column) -%}
    (
        select date_day
        from {{ relation }}
        cross join unnest(generate_date_array({{ start_column }}, {{ end_column }})) as date_day
    )
{%- endmacro %}

{#- ISO day of week: 1 = Monday ... 7 = Sunday -#}
{% macro iso_day_of_week(date_expression) %}
    {{- return(adapter.dispatch('iso_day_of_week', 'adw')(date_expression)) -}}
{% endmacro %}

{% macro default__iso_day_of_week(date_expression) -%}
    cast(extract(isodow from {{ date_expression }}) as {{ dbt.type_bigint() }})
{%- endmacro %}

{% macro bigquery__iso_day_of_week(date_expression) -%}
    mod(extract(dayofweek from {{ date_expression }}) + 5, 7) + 1
{%- endmacro %}

{% macro month_name(date_expression) %}
    {{- return(adapter.dispatch('month_name', 'adw')(date_expression)) -}}
{% endmacro %}

{% macro default__month_name(date_expression) -%}
    trim(to_char({{ date_expression }}, 'Month'))
{%- endmacro %}

{% macro duckdb__month_name(date_expression) -%}
    monthname({{ date_expression }})
{%- endmacro %}

{% macro bigquery__month_name(date_expression) -%}
    format_date('%B', {{ date_expression }})
{%- endmacro %}

{#- the first day of the month of a date, as a date -#}
{% macro month_start(date_expression) -%}
    cast({{ dbt.date_trunc('month', date_expression) }} as date)
{%- endmacro %}

{#- whole days from one date to another (null when either is null) -#}
{% macro days_between(first_date, second_date) -%}
    cast({{ dbt.datediff(first_date, second_date, 'day') }} as {{ dbt.type_bigint() }})
{%- endmacro %}
