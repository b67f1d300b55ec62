{#-
  One row per sales order. Incremental: each run merges the orders whose replicated row was
  extracted since the newest one already here (minus the lookback), so a status change in the
  source replaces the order's row (merge on sales_order_id): no duplicates. An order deleted
  in the source leaves on the next build (post-hook delete_rows_gone_from).
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='merge',
        unique_key='sales_order_id',
        on_schema_change='append_new_columns',
        partition_by=adw_partition_by('order_date', 'month'),
        cluster_by=adw_cluster_by(['customer_id', 'status_code']),
        post_hook="{{ delete_rows_gone_from([(ref('stg_sales__orders'), ['sales_order_id'])]) }}",
    )
}}

with

orders as (

    select * from {{ ref('stg_sales__orders') }}

),

stamped as (

    select
        *,
        {{ to_utc_timestamp('_extracted_at') }} as _loaded_at

    from orders

),

final as (

    select
        sales_order_id,
        customer_id,
        bill_to_address_id,
        ship_to_address_id,
        credit_card_id,
        status_code,
        is_online_order,
        order_date,
        due_date,
        ship_date,
        {{ days_between('order_date', 'ship_date') }} as days_to_ship,
        subtotal,
        tax_amount,
        freight,
        cast(coalesce(total_due, subtotal + tax_amount + freight) as {{ money_type() }})
            as total_due,
        revision_number,
        modified_at,
        _loaded_at

    from stamped
    where {{ incremental_window('_loaded_at') }}

)

select * from final
